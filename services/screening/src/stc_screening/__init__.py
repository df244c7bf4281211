"""STC screening service: restricted-party lists, party and transaction screening, and
item classification help.

Layers (docs/architecture.md): ``api`` (the gRPC servicer and request/response mapping) ->
``service`` (use cases taking the commands of ``service.commands``, by business area) ->
``domain`` (pure rules) and ``storage`` (the typed unit of work and its repositories);
``events`` holds the consumers (``handlers``), the list-topic index sync and every outgoing
payload (``outgoing``). File parsers for the public list formats live in ``importers``,
the files they read are found by ``policy_files``; ``testing`` holds the in-memory fakes and
the labelled sets that the accuracy test and ``bench/screening_accuracy.py`` share.
"""
