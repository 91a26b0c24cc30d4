"""A wire-accurate local Bedrock Runtime emulator with per-Region fault injection.

In-process use::

    from agentkit.emulator import Emulator
    with Emulator(["us-east-1", "us-west-2"]) as emu:
        client = emu.client("us-east-1")
        emu.set_faults({"regions": {"us-east-1": {"down": True}}})

From the shell: ``agentkit emulate --regions us-east-1,us-west-2 --json``.
"""

from agentkit.emulator.calllog import CallRecord
from agentkit.emulator.faults import FaultPlan
from agentkit.emulator.server import Emulator, EmulatorServer, running_emulator

__all__ = ["CallRecord", "Emulator", "EmulatorServer", "FaultPlan", "running_emulator"]
