"""Test support shipped with the package: in-memory fakes of the unit of work
(``fakes``) and the labelled evaluation sets (``evaluation``). Nothing at run time imports
it."""
