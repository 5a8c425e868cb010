"""flywheel's demo model: an OpenAI-compatible loopback server with a documented rule table."""

from flywheel.tasks.demo_model.rules import DEMO_FINGERPRINT, DEMO_MODEL
from flywheel.tasks.demo_model.server import DemoModelServer, FaultPlan

__all__ = ["DEMO_FINGERPRINT", "DEMO_MODEL", "DemoModelServer", "FaultPlan"]
