"""Use cases of the screening service, by business area: ``lists`` (imports and officers'
list changes), ``rescreening``, ``search`` (the public list search), ``screening``
(parties, transactions, applications, change reports), ``subjects`` (the re-screening
projection), ``classification``, ``consultations``, ``measures`` (country measures) and
``index`` (the in-memory index kept equal to storage). Each takes a command
(``commands``) and returns domain objects."""
