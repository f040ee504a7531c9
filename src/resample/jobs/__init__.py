"""Jobs: one file (convert), the frames or pages of one file (frames), an image too large for
memory (stream), a folder or a list of files, on this machine or a Dask cluster (batch); and
what they show on the terminal (console)."""
