"""The `pcdata` command line: the platform's steps for people and schedulers."""
