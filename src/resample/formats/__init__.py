"""Files and formats: images read and written through Pillow, tifffile and imagecodecs
(images), the PNG encoder (png), point-cloud CSV files (pointcloud), and the rules for
outputs: formats, metadata, atomic writes, temporary files (files)."""
