"""The kit's harness library: boot an image on an emulator and watch COM1.

Used by the pytest harness (harness/tests), by `make run` and by `make bench`,
so a student, an instructor's grader and CI all boot lessons the same way.
"""
