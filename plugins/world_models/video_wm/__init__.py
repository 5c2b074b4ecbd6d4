"""`warl/video-wm`: an action-conditioned latent video world model (WoVR's simulator).

Frames are encoded to latent tokens (`frames.FrameCodec`), and a diffusion transformer
(`denoiser.ActionConditionedDiT`) generates the next chunk of latent frames from a
first-frame-anchored context and an action chunk, with rectified flow and a few-step sampler
(`warl.plugins.world_models.latent_video`). `model.VideoWorldModel` is the `WorldModel`.
"""
