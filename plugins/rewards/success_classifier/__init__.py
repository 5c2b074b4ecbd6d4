"""`warl/success-classifier`: WoVR's learned reward, r = 1[R(o) >= 0.5] on frames."""
