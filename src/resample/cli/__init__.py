"""The command line: ``resample`` (cli.quick: the entry point; cli.command: the options and the
subcommands), which parses the arguments once into a job's Options and hands them to a job.
Light at start-up: the jobs, and NumPy with them, are imported when one runs."""
