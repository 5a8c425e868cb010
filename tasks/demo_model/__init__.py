"""flywheel's demo model: an OpenAI-compatible loopback server with a documented rule table."""

from flywheel.tasks._faces import lazy_face

# the public name -> the private module that defines it; other packages import only these
_EXPORTS = {
    "DEMO_FINGERPRINT": "flywheel.tasks.demo_model._rules",
    "DEMO_MODEL": "flywheel.tasks.demo_model._rules",
    "DemoModelServer": "flywheel.tasks.demo_model._server",
    "FaultPlan": "flywheel.tasks.demo_model._server",
}

__all__, __getattr__ = lazy_face(__name__, _EXPORTS)
