"""A pod's service-account credentials: the projected kube-api-access volume, and its token works."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from pyk8s.util import kubeconfig
from tests.e2e.helpers import row_for, wait_until
from tests.e2e.kubelet.conftest import Cluster

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def test_token_volume_is_mounted_and_the_token_authenticates(cluster: Cluster) -> None:
    script = (f"cat {SA_DIR}/namespace; echo; head -1 {SA_DIR}/ca.crt; cat {SA_DIR}/token; echo; "
              "echo host=$KUBERNETES_SERVICE_HOST port=$KUBERNETES_SERVICE_PORT")
    cluster.kubectl("run", "whoami", "--image=busybox:1.36", "--image-pull-policy=IfNotPresent", "--restart=Never",
                    "--", "sh", "-c", script)
    wait_until(lambda: row_for(cluster.kubectl("get", "pod", "whoami").stdout, "whoami")[2] == "Completed",
               timeout=40, what="whoami Completed")
    pod = json.loads(cluster.kubectl("get", "pod", "whoami", "-o", "json").stdout)
    assert pod["spec"]["serviceAccountName"] == "default"
    volume = next(v for v in pod["spec"]["volumes"] if v["name"].startswith("kube-api-access-"))
    assert [next(iter(s)) for s in volume["projected"]["sources"]] == ["serviceAccountToken", "configMap",
                                                                       "downwardAPI"]
    lines = cluster.kubectl("logs", "whoami").stdout.splitlines()
    assert lines[0] == "default"
    assert lines[1] == "-----BEGIN CERTIFICATE-----"
    token = lines[2]
    assert token.count(".") == 2, "a JWT"
    assert lines[3] == "host=10.96.0.1 port=443"
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    out = json.loads(cluster.kubectl("create", "--validate=false", "-f", "-", "-o", "json",
                                     input=json.dumps(review)).stdout)
    assert out["status"]["authenticated"] is True
    assert out["status"]["user"]["username"] == "system:serviceaccount:default:default"
    # A kubeconfig with only the token: beside the admin's certificate the certificate would win (authenticated
    # first, as upstream).
    server = cluster.server
    with open(os.path.join(server.data_dir, "pki", "ca.crt"), "rb") as f:
        doc = kubeconfig.build_kubeconfig(server=server.url, ca_pem=f.read(), user="pod", token=token)
    token_kubeconfig = Path(server.root) / "pod-token.kubeconfig"
    kubeconfig.write_kubeconfig(token_kubeconfig, doc)
    whoami = subprocess.run(["kubectl", f"--kubeconfig={token_kubeconfig}", f"--cache-dir={server.cache_dir}", "auth",
                             "whoami", "-o", "json"], capture_output=True, text=True, timeout=60,
                            env=server.kubectl_env(), check=False)
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == "system:serviceaccount:default:default"
