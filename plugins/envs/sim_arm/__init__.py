"""A simulated robot arm driver (`robot/sim-arm`): the reference for writing a real one."""
