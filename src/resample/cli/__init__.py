"""The command line: ``resample`` and its subcommands, defined once as data (command: each
command's options, and what it runs), read by one parser (parser: argv to values, and the
help).  The values are parsed once into the job's spec (resample.spec.options.Options) and
handed to a job.  Light at start-up: a job's modules, and NumPy with them, load when it runs.
"""
