"""STC screening service: restricted-party lists, party and transaction screening, and
item classification help.

The pure domain layer lives in ``stc_screening.domain``; file parsers for the public list
formats live in ``stc_screening.importers``; ``stc_screening.evaluation`` builds the labelled
sets that the accuracy test and ``bench/screening_accuracy.py`` share.
"""
