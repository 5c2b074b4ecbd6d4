"""``sb3/sac``, ``sb3/td3``, ``sb3/ppo``: classic RL from stable-baselines3 through ``warl train``.

They train on the deployment env (gap included) from its ``state`` vector alone, with no
world-action model, and produce the same run folder and results card as every algorithm::

    warl train sb3/sac --env metaworld/reach --set reward=dense --set train.env_steps=50000

Settings (``--set KEY=VALUE``; the config classes in ``config.py`` document each with its
default, SB3's own unless noted):

- ``reward``: ``sparse`` (the env's success reward) or ``dense`` (the env's shaped reward,
  ``reward_type="dense"``). Evaluations always count successes.
- common: ``learning_rate``, ``batch_size``, ``gamma``, ``net_arch``, ``policy_kwargs``,
  ``seed``, ``device`` (``cpu`` by default).
- SAC / TD3: ``buffer_size``, ``learning_starts``, ``tau``, ``train_freq``,
  ``gradient_steps``; SAC ``ent_coef``; TD3 ``action_noise``, ``policy_delay``,
  ``target_policy_noise``, ``target_noise_clip``.
- PPO: ``n_steps``, ``n_epochs``, ``gae_lambda``, ``clip_range``, ``ent_coef``, ``vf_coef``,
  ``max_grad_norm``.

How they fit the loop: SB3 steps its own env (``train`` runs the ``external`` loop); every finished
episode is one train.csv row (``critic_loss`` / ``actor_loss`` from SB3's logger: PPO's
value and policy-gradient losses), and the loop evaluates and checkpoints on its schedule.
Checkpoints hold SB3's model zip and the replay buffer, so ``warl train --resume`` continues
where the run stopped (PPO restarts its current rollout). SB3 learns from its own replay
only: the loop records no demonstrations for it. With ``train.intervention=expert``,
SAC and TD3 store the expert's executed actions in their replay; PPO refuses it.
"""
