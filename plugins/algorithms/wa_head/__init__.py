"""Acting with and cloning into a trainable copy of the WA model's action head, shared by
HG-DAgger (the novice) and PLD (the distilled policy)."""
