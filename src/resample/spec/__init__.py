"""What to compute, parsed and checked once: methods (kernels, as data), geometry (sizes and
ImageMagick geometries), tap tables (taps), sample types (dtypes) and memory (what a job may
allocate, checked before it does)."""
