"""robosuite 1.5.2's standard tasks, one instruction each (no heavy imports)."""

from __future__ import annotations

INSTRUCTIONS: dict[str, str] = {
    "Door": "Turn the handle and pull the door open.",
    "Lift": "Pick up the red cube and lift it off the table.",
    "NutAssembly": "Fit the square nut onto the square peg and the round nut onto the round peg.",
    "NutAssemblyRound": "Fit the round nut onto the round peg.",
    "NutAssemblySingle": "Fit the nut onto its matching peg.",
    "NutAssemblySquare": "Fit the square nut onto the square peg.",
    "PickPlace": "Put each object into its own bin.",
    "PickPlaceBread": "Put the bread into its bin.",
    "PickPlaceCan": "Put the can into its bin.",
    "PickPlaceCereal": "Put the cereal box into its bin.",
    "PickPlaceMilk": "Put the milk carton into its bin.",
    "PickPlaceSingle": "Put the object into its bin.",
    "Stack": "Stack the red cube on top of the green cube.",
    "ToolHang": "Insert the hook into the stand, then hang the wrench on the hook.",
    "TwoArmHandover": "Lift the hammer with one arm and hand it over to the other.",
    "TwoArmLift": "Lift the pot by both handles, one arm each.",
    "TwoArmPegInHole": "Insert the peg held by one arm into the hole held by the other.",
    "TwoArmTransport": "Move the object from one bin to the other, one arm clearing the way.",
    "Wipe": "Wipe the markings off the table.",
}
TWO_ARM = frozenset(t for t in INSTRUCTIONS if t.startswith("TwoArm"))
