"""Errors spotfake raises on purpose, each with a message meant for the user."""


class SpotfakeError(Exception):
    """Base class of the errors spotfake reports to its users."""


class ImageReadError(SpotfakeError):
    """An image file cannot be read or is refused (corrupt, too large, unsupported)."""


class ModelLoadError(SpotfakeError):
    """A detector cannot be found or its weights do not match its spec."""


class RegistryError(SpotfakeError):
    """A detector name is unknown or registered twice."""


class DeviceError(SpotfakeError):
    """The requested device (e.g. cuda) is not available."""


class BackendError(SpotfakeError):
    """The requested inference backend (e.g. onnx) cannot run this model here."""
