"""The 50 MetaWorld v3 tasks with one natural-language instruction each (no heavy imports)."""

from __future__ import annotations

METAWORLD_VERSION_SUFFIX = "-v3"

INSTRUCTIONS: dict[str, str] = {
    "assembly": "Pick up the nut and place it onto the peg.",
    "basketball": "Pick up the ball and dunk it into the basket.",
    "bin-picking": "Pick the puck from one bin and place it into the other bin.",
    "box-close": "Grasp the lid and close the box with it.",
    "button-press-topdown": "Press the button from the top.",
    "button-press-topdown-wall": "Press the button behind the wall from the top.",
    "button-press": "Press the button in front of the gripper.",
    "button-press-wall": "Press the button behind the short wall.",
    "coffee-button": "Push the button on the coffee machine.",
    "coffee-pull": "Pull the mug out from under the coffee machine.",
    "coffee-push": "Push the mug under the coffee machine.",
    "dial-turn": "Rotate the dial 180 degrees.",
    "disassemble": "Pick the nut off the peg.",
    "door-close": "Close the door by pushing it shut.",
    "door-lock": "Lock the door by rotating the lock clockwise.",
    "door-open": "Open the door by pulling its handle.",
    "door-unlock": "Unlock the door by rotating the lock counter-clockwise.",
    "hand-insert": "Insert the gripper into the hole.",
    "drawer-close": "Push the drawer closed.",
    "drawer-open": "Pull the drawer open.",
    "faucet-open": "Rotate the faucet handle counter-clockwise to open it.",
    "faucet-close": "Rotate the faucet handle clockwise to close it.",
    "hammer": "Pick up the hammer and hammer the nail into the wall.",
    "handle-press-side": "Press the handle down sideways.",
    "handle-press": "Press the handle down.",
    "handle-pull-side": "Pull the handle up sideways.",
    "handle-pull": "Pull the handle up.",
    "lever-pull": "Pull the lever down 90 degrees.",
    "pick-place-wall": "Pick up the puck and place it at the goal behind the wall.",
    "pick-out-of-hole": "Pick the peg out of the hole.",
    "pick-place": "Pick up the puck and place it at the goal.",
    "plate-slide": "Slide the plate into the cabinet.",
    "plate-slide-side": "Slide the plate sideways into the cabinet.",
    "plate-slide-back": "Slide the plate out of the cabinet.",
    "plate-slide-back-side": "Slide the plate sideways out of the cabinet.",
    "peg-insert-side": "Pick up the peg and insert it sideways into the hole.",
    "peg-unplug-side": "Unplug the peg sideways from the hole.",
    "soccer": "Kick the soccer ball into the goal.",
    "stick-push": "Grasp the stick and push the box with it.",
    "stick-pull": "Grasp the stick and pull the box with it.",
    "push": "Push the puck to the goal.",
    "push-wall": "Push the puck to the goal around the wall.",
    "push-back": "Pull the puck back to the goal.",
    "reach": "Reach the goal position.",
    "reach-wall": "Reach the goal position behind the wall.",
    "shelf-place": "Pick up the puck and place it onto the shelf.",
    "sweep-into": "Sweep the puck into the hole.",
    "sweep": "Sweep the puck off the table.",
    "window-open": "Push the window open.",
    "window-close": "Push the window closed.",
}

TASKS: tuple[str, ...] = tuple(INSTRUCTIONS)


def metaworld_name(task: str) -> str:
    """``peg-insert-side`` -> ``peg-insert-side-v3`` (MetaWorld's own environment name)."""
    return task if task.endswith(METAWORLD_VERSION_SUFFIX) else task + METAWORLD_VERSION_SUFFIX
