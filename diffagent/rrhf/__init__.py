"""SFTA stage 2 (RRHF): diverse beam search, candidates, reconstruction, reward rollouts, trainer.

Modules: diverse_beam (search), loss (Eqs. 7-10), rrhf_config + rrhf_trainer (trl-shaped trainer),
reconstruct (availability filter + response reconstruction), candidates, rollout (+ rollout_models),
stages and train (what the sftA-train flow's tasks call). Heavy imports stay inside each module.
"""
