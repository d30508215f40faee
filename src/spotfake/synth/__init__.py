"""Training fakes from real images: generator-like autoencoders and content-matched fakes.

A detector generalises when it learns the traces of generators' upsampling layers from fakes
that match the reals in content, format and size (CNNDetection, Fake-or-JPEG, B-Free). Without
generator weights, spotfake trains small autoencoders whose decoders upsample like the generator
families do (``archs``, ``ldm``), and passes each real through one to get its twin (``make``),
stored exactly like the real (``encode``). Importing this package imports nothing heavy.
"""
