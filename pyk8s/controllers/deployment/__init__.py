"""The Deployment controller: rolls a pod template out through ReplicaSets.

``sync.plan(deployment, replicasets, pods, now)`` decides one sync (see
``sync`` for the flow and ``rollout`` for the strategies); ``rollingmath``
holds the surge/unavailable arithmetic, ``revision`` the new/old set
selection and revision annotations, ``progress`` the status and conditions
``kubectl rollout status`` reads.
"""

from pyk8s.controllers.deployment.sync import DeploymentPlan, collision_status, create_failed_status, plan

__all__ = ["DeploymentPlan", "collision_status", "create_failed_status", "plan"]
