"""Engines that run the detection pipeline somewhere other than this process.

Each engine calls the same scoring code as ``spotfake detect`` (``spotfake.detect.iter_predict``)
and yields the same ``Prediction`` records; only where the work runs changes. An engine's
dependencies are optional and imported only when it is used (``spotfake.engines.ray``: Ray).
"""
