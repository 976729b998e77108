"""Sub-commands of the ``navsvc`` command line (see :mod:`navsvc.cli`)."""
