"""Protobuf field numbers of core/v1 (and the meta/v1 option types), from k8s.io/api ``generated.proto``.

The conformance framework, ``kubectl debug --copy-to``, ``kubectl drain`` and Helm
send these kinds as protobuf, so every field of a Pod (and what a Pod holds) must be
known by number, or it is silently lost.  Each line is ``Message field=N ...``; the
field names are the JSON names.  ``field=O.I`` marks a Go struct that JSON inlines but
protobuf nests (``Volume`` holds its ``VolumeSource`` as field 2; ``hostPath`` is
field 1 inside it).  Field numbers never change once assigned upstream.

Importing this module registers the table (``pyk8s.api.protonumbers`` imports it).
"""

from __future__ import annotations

from pyk8s.machinery.protobuf import NumberSpec, register_numbers

CORE = "io.k8s.api.core.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
POLICY = "io.k8s.api.policy.v1."

_CONTAINER = (
    "name=1 image=2 command=3 args=4 workingDir=5 ports=6 envFrom=19 env=7 resources=8 resizePolicy=23 "
    "restartPolicy=24 restartPolicyRules=25 volumeMounts=9 volumeDevices=21 livenessProbe=10 readinessProbe=11 "
    "startupProbe=22 lifecycle=12 terminationMessagePath=13 terminationMessagePolicy=20 imagePullPolicy=14 "
    "securityContext=15 stdin=16 stdinOnce=17 tty=18"
)

_VOLUME_SOURCE = (
    "hostPath=1 emptyDir=2 gcePersistentDisk=3 awsElasticBlockStore=4 gitRepo=5 secret=6 nfs=7 iscsi=8 glusterfs=9 "
    "persistentVolumeClaim=10 rbd=11 flexVolume=12 cinder=13 cephfs=14 flocker=15 downwardAPI=16 fc=17 azureFile=18 "
    "configMap=19 vsphereVolume=20 quobyte=21 azureDisk=22 photonPersistentDisk=23 projected=26 portworxVolume=24 "
    "scaleIO=25 storageos=27 csi=28 ephemeral=29 image=30"
)

_PV_SOURCE = (
    "gcePersistentDisk=1 awsElasticBlockStore=2 hostPath=3 glusterfs=4 nfs=5 rbd=6 iscsi=7 cinder=8 cephfs=9 fc=10 "
    "flocker=11 flexVolume=12 azureFile=13 vsphereVolume=14 quobyte=15 azureDisk=16 photonPersistentDisk=17 "
    "portworxVolume=18 scaleIO=19 local=20 storageos=21 csi=22"
)


def _inline(outer: int, fields: str) -> str:
    return " ".join(f"{name}={outer}.{num}" for name, num in (f.split("=") for f in fields.split()))


_CORE_TABLE = f"""
AWSElasticBlockStoreVolumeSource volumeID=1 fsType=2 partition=3 readOnly=4
Affinity nodeAffinity=1 podAffinity=2 podAntiAffinity=3
AppArmorProfile type=1 localhostProfile=2
AttachedVolume name=1 devicePath=2
AzureDiskVolumeSource diskName=1 diskURI=2 cachingMode=3 fsType=4 readOnly=5 kind=6
AzureFilePersistentVolumeSource secretName=1 shareName=2 readOnly=3 secretNamespace=4
AzureFileVolumeSource secretName=1 shareName=2 readOnly=3
Binding metadata=1 target=2
CSIPersistentVolumeSource driver=1 volumeHandle=2 readOnly=3 fsType=4 volumeAttributes=5 controllerPublishSecretRef=6 nodeStageSecretRef=7 nodePublishSecretRef=8 controllerExpandSecretRef=9 nodeExpandSecretRef=10
CSIVolumeSource driver=1 readOnly=2 fsType=3 volumeAttributes=4 nodePublishSecretRef=5
Capabilities add=1 drop=2
CephFSPersistentVolumeSource monitors=1 path=2 user=3 secretFile=4 secretRef=5 readOnly=6
CephFSVolumeSource monitors=1 path=2 user=3 secretFile=4 secretRef=5 readOnly=6
CinderPersistentVolumeSource volumeID=1 fsType=2 readOnly=3 secretRef=4
CinderVolumeSource volumeID=1 fsType=2 readOnly=3 secretRef=4
ClientIPConfig timeoutSeconds=1
ClusterTrustBundleProjection name=1 signerName=2 labelSelector=3 optional=5 path=4
ComponentCondition type=1 status=2 message=3 error=4
ComponentStatus metadata=1 conditions=2
ComponentStatusList metadata=1 items=2
ConfigMap metadata=1 immutable=4 data=2 binaryData=3
ConfigMapEnvSource name=1.1 optional=2
ConfigMapKeySelector name=1.1 key=2 optional=3
ConfigMapList metadata=1 items=2
ConfigMapNodeConfigSource namespace=1 name=2 uid=3 resourceVersion=4 kubeletConfigKey=5
ConfigMapProjection name=1.1 items=2 optional=4
ConfigMapVolumeSource name=1.1 items=2 defaultMode=3 optional=4
Container {_CONTAINER}
ContainerImage names=1 sizeBytes=2
ContainerPort name=1 hostPort=2 containerPort=3 protocol=4 hostIP=5
ContainerResizePolicy resourceName=1 restartPolicy=2
ContainerRestartRule action=1 exitCodes=2
ContainerRestartRuleOnExitCodes operator=1 values=2
ContainerState waiting=1 running=2 terminated=3
ContainerStateRunning startedAt=1
ContainerStateTerminated exitCode=1 signal=2 reason=3 message=4 startedAt=5 finishedAt=6 containerID=7
ContainerStateWaiting reason=1 message=2
ContainerStatus name=1 state=2 lastState=3 ready=4 restartCount=5 image=6 imageID=7 containerID=8 started=9 allocatedResources=10 resources=11 volumeMounts=12 user=13 allocatedResourcesStatus=14 stopSignal=15
ContainerUser linux=1
DaemonEndpoint Port=1
DownwardAPIProjection items=1
DownwardAPIVolumeFile path=1 fieldRef=2 resourceFieldRef=3 mode=4
DownwardAPIVolumeSource items=1 defaultMode=2
EmptyDirVolumeSource medium=1 sizeLimit=2
EndpointAddress ip=1 hostname=3 nodeName=4 targetRef=2
EndpointPort name=1 port=2 protocol=3 appProtocol=4
EndpointSubset addresses=1 notReadyAddresses=2 ports=3
Endpoints metadata=1 subsets=2
EndpointsList metadata=1 items=2
EnvFromSource prefix=1 configMapRef=2 secretRef=3
EnvVar name=1 value=2 valueFrom=3
EnvVarSource fieldRef=1 resourceFieldRef=2 configMapKeyRef=3 secretKeyRef=4 fileKeyRef=5
EphemeralContainer {_inline(1, _CONTAINER)} targetContainerName=2
EphemeralVolumeSource volumeClaimTemplate=1
Event metadata=1 involvedObject=2 reason=3 message=4 source=5 firstTimestamp=6 lastTimestamp=7 count=8 type=9 eventTime=10 series=11 action=12 related=13 reportingComponent=14 reportingInstance=15
EventList metadata=1 items=2
EventSeries count=1 lastObservedTime=2
EventSource component=1 host=2
ExecAction command=1
FCVolumeSource targetWWNs=1 lun=2 fsType=3 readOnly=4 wwids=5
FileKeySelector volumeName=1 path=2 key=3 optional=4
FlexPersistentVolumeSource driver=1 fsType=2 secretRef=3 readOnly=4 options=5
FlexVolumeSource driver=1 fsType=2 secretRef=3 readOnly=4 options=5
FlockerVolumeSource datasetName=1 datasetUUID=2
GCEPersistentDiskVolumeSource pdName=1 fsType=2 partition=3 readOnly=4
GRPCAction port=1 service=2
GitRepoVolumeSource repository=1 revision=2 directory=3
GlusterfsPersistentVolumeSource endpoints=1 path=2 readOnly=3 endpointsNamespace=4
GlusterfsVolumeSource endpoints=1 path=2 readOnly=3
HTTPGetAction path=1 port=2 host=3 scheme=4 httpHeaders=5
HTTPHeader name=1 value=2
HostAlias ip=1 hostnames=2
HostIP ip=1
HostPathVolumeSource path=1 type=2
ISCSIPersistentVolumeSource targetPortal=1 iqn=2 lun=3 iscsiInterface=4 fsType=5 readOnly=6 portals=7 chapAuthDiscovery=8 chapAuthSession=11 secretRef=10 initiatorName=12
ISCSIVolumeSource targetPortal=1 iqn=2 lun=3 iscsiInterface=4 fsType=5 readOnly=6 portals=7 chapAuthDiscovery=8 chapAuthSession=11 secretRef=10 initiatorName=12
ImageVolumeSource reference=1 pullPolicy=2
ImageVolumeStatus imageRef=1
KeyToPath key=1 path=2 mode=3
Lifecycle postStart=1 preStop=2 stopSignal=3
LifecycleHandler exec=1 httpGet=2 tcpSocket=3 sleep=4
LimitRange metadata=1 spec=2
LimitRangeItem type=1 max=2 min=3 default=4 defaultRequest=5 maxLimitRequestRatio=6
LimitRangeList metadata=1 items=2
LimitRangeSpec limits=1
LinuxContainerUser uid=1 gid=2 supplementalGroups=3
LoadBalancerIngress ip=1 hostname=2 ipMode=3 ports=4
LoadBalancerStatus ingress=1
LocalObjectReference name=1
LocalVolumeSource path=1 fsType=2
ModifyVolumeStatus targetVolumeAttributesClassName=1 status=2
NFSVolumeSource server=1 path=2 readOnly=3
Namespace metadata=1 spec=2 status=3
NamespaceCondition type=1 status=2 lastTransitionTime=4 reason=5 message=6
NamespaceList metadata=1 items=2
NamespaceSpec finalizers=1
NamespaceStatus phase=1 conditions=2
Node metadata=1 spec=2 status=3
NodeAddress type=1 address=2
NodeAffinity requiredDuringSchedulingIgnoredDuringExecution=1 preferredDuringSchedulingIgnoredDuringExecution=2
NodeCondition type=1 status=2 lastHeartbeatTime=3 lastTransitionTime=4 reason=5 message=6
NodeConfigSource configMap=2
NodeConfigStatus assigned=1 active=2 lastKnownGood=3 error=4
NodeDaemonEndpoints kubeletEndpoint=1
NodeFeatures supplementalGroupsPolicy=1
NodeList metadata=1 items=2
NodeRuntimeHandler name=1 features=2
NodeRuntimeHandlerFeatures recursiveReadOnlyMounts=1 userNamespaces=2
NodeSelector nodeSelectorTerms=1
NodeSelectorRequirement key=1 operator=2 values=3
NodeSelectorTerm matchExpressions=1 matchFields=2
NodeSpec podCIDR=1 podCIDRs=7 providerID=3 unschedulable=4 taints=5 configSource=6 externalID=2
NodeStatus capacity=1 allocatable=2 phase=3 conditions=4 addresses=5 daemonEndpoints=6 nodeInfo=7 images=8 volumesInUse=9 volumesAttached=10 config=11 runtimeHandlers=12 features=13
NodeSwapStatus capacity=1
NodeSystemInfo machineID=1 systemUUID=2 bootID=3 kernelVersion=4 osImage=5 containerRuntimeVersion=6 kubeletVersion=7 kubeProxyVersion=8 operatingSystem=9 architecture=10 swap=11
ObjectFieldSelector apiVersion=1 fieldPath=2
ObjectReference kind=1 namespace=2 name=3 uid=4 apiVersion=5 resourceVersion=6 fieldPath=7
PersistentVolume metadata=1 spec=2 status=3
PersistentVolumeClaim metadata=1 spec=2 status=3
PersistentVolumeClaimCondition type=1 status=2 lastProbeTime=3 lastTransitionTime=4 reason=5 message=6
PersistentVolumeClaimList metadata=1 items=2
PersistentVolumeClaimSpec accessModes=1 selector=4 resources=2 volumeName=3 storageClassName=5 volumeMode=6 dataSource=7 dataSourceRef=8 volumeAttributesClassName=9
PersistentVolumeClaimStatus phase=1 accessModes=2 capacity=3 conditions=4 allocatedResources=5 allocatedResourceStatuses=7 currentVolumeAttributesClassName=8 modifyVolumeStatus=9
PersistentVolumeClaimTemplate metadata=1 spec=2
PersistentVolumeClaimVolumeSource claimName=1 readOnly=2
PersistentVolumeList metadata=1 items=2
PersistentVolumeSpec capacity=1 {_inline(2, _PV_SOURCE)} accessModes=3 claimRef=4 persistentVolumeReclaimPolicy=5 storageClassName=6 mountOptions=7 volumeMode=8 nodeAffinity=9 volumeAttributesClassName=10
PersistentVolumeStatus phase=1 message=2 reason=3 lastPhaseTransitionTime=4
PhotonPersistentDiskVolumeSource pdID=1 fsType=2
Pod metadata=1 spec=2 status=3
PodAffinity requiredDuringSchedulingIgnoredDuringExecution=1 preferredDuringSchedulingIgnoredDuringExecution=2
PodAffinityTerm labelSelector=1 namespaces=2 topologyKey=3 namespaceSelector=4 matchLabelKeys=5 mismatchLabelKeys=6
PodAntiAffinity requiredDuringSchedulingIgnoredDuringExecution=1 preferredDuringSchedulingIgnoredDuringExecution=2
PodCondition type=1 observedGeneration=7 status=2 lastProbeTime=3 lastTransitionTime=4 reason=5 message=6
PodDNSConfig nameservers=1 searches=2 options=3
PodDNSConfigOption name=1 value=2
PodIP ip=1
PodList metadata=1 items=2
PodOS name=1
PodReadinessGate conditionType=1
PodResourceClaim name=1 resourceClaimName=3 resourceClaimTemplateName=4
PodResourceClaimStatus name=1 resourceClaimName=2
PodSchedulingGate name=1
PodSecurityContext seLinuxOptions=1 windowsOptions=8 runAsUser=2 runAsGroup=6 runAsNonRoot=3 supplementalGroups=4 supplementalGroupsPolicy=12 fsGroup=5 sysctls=7 fsGroupChangePolicy=9 seccompProfile=10 appArmorProfile=11 seLinuxChangePolicy=13
PodSpec volumes=1 initContainers=20 containers=2 ephemeralContainers=34 restartPolicy=3 terminationGracePeriodSeconds=4 activeDeadlineSeconds=5 dnsPolicy=6 nodeSelector=7 serviceAccountName=8 serviceAccount=9 automountServiceAccountToken=21 nodeName=10 hostNetwork=11 hostPID=12 hostIPC=13 shareProcessNamespace=27 securityContext=14 imagePullSecrets=15 hostname=16 subdomain=17 affinity=18 schedulerName=19 tolerations=22 hostAliases=23 priorityClassName=24 priority=25 dnsConfig=26 readinessGates=28 runtimeClassName=29 enableServiceLinks=30 preemptionPolicy=31 overhead=32 topologySpreadConstraints=33 setHostnameAsFQDN=35 os=36 hostUsers=37 schedulingGates=38 resourceClaims=39 resources=40
PodStatus observedGeneration=17 phase=1 conditions=2 message=3 reason=4 nominatedNodeName=11 hostIP=5 hostIPs=16 podIP=6 podIPs=12 startTime=7 initContainerStatuses=10 containerStatuses=8 qosClass=9 ephemeralContainerStatuses=13 resize=14 resourceClaimStatuses=15
PodTemplate metadata=1 template=2
PodTemplateList metadata=1 items=2
PodTemplateSpec metadata=1 spec=2
PortStatus port=1 protocol=2 error=3
PortworxVolumeSource volumeID=1 fsType=2 readOnly=3
PreferredSchedulingTerm weight=1 preference=2
Probe {_inline(1, "exec=1 httpGet=2 tcpSocket=3 grpc=4")} initialDelaySeconds=2 timeoutSeconds=3 periodSeconds=4 successThreshold=5 failureThreshold=6 terminationGracePeriodSeconds=7
ProjectedVolumeSource sources=1 defaultMode=2
QuobyteVolumeSource registry=1 volume=2 readOnly=3 user=4 group=5 tenant=6
RBDPersistentVolumeSource monitors=1 image=2 fsType=3 pool=4 user=5 keyring=6 secretRef=7 readOnly=8
RBDVolumeSource monitors=1 image=2 fsType=3 pool=4 user=5 keyring=6 secretRef=7 readOnly=8
ReplicationController metadata=1 spec=2 status=3
ReplicationControllerCondition type=1 status=2 lastTransitionTime=3 reason=4 message=5
ReplicationControllerList metadata=1 items=2
ReplicationControllerSpec replicas=1 minReadySeconds=4 selector=2 template=3
ReplicationControllerStatus replicas=1 fullyLabeledReplicas=2 readyReplicas=4 availableReplicas=5 observedGeneration=3 conditions=6
ResourceClaim name=1 request=2
ResourceFieldSelector containerName=1 resource=2 divisor=3
ResourceHealth resourceID=1 health=2
ResourceQuota metadata=1 spec=2 status=3
ResourceQuotaList metadata=1 items=2
ResourceQuotaSpec hard=1 scopes=2 scopeSelector=3
ResourceQuotaStatus hard=1 used=2
ResourceRequirements limits=1 requests=2 claims=3
ResourceStatus name=1 resources=2
SELinuxOptions user=1 role=2 type=3 level=4
ScaleIOPersistentVolumeSource gateway=1 system=2 secretRef=3 sslEnabled=4 protectionDomain=5 storagePool=6 storageMode=7 volumeName=8 fsType=9 readOnly=10
ScaleIOVolumeSource gateway=1 system=2 secretRef=3 sslEnabled=4 protectionDomain=5 storagePool=6 storageMode=7 volumeName=8 fsType=9 readOnly=10
ScopeSelector matchExpressions=1
ScopedResourceSelectorRequirement scopeName=1 operator=2 values=3
SeccompProfile type=1 localhostProfile=2
Secret metadata=1 immutable=5 data=2 stringData=4 type=3
SecretEnvSource name=1.1 optional=2
SecretKeySelector name=1.1 key=2 optional=3
SecretList metadata=1 items=2
SecretProjection name=1.1 items=2 optional=4
SecretReference name=1 namespace=2
SecretVolumeSource secretName=1 items=2 defaultMode=3 optional=4
SecurityContext capabilities=1 privileged=2 seLinuxOptions=3 windowsOptions=10 runAsUser=4 runAsGroup=8 runAsNonRoot=5 readOnlyRootFilesystem=6 allowPrivilegeEscalation=7 procMount=9 seccompProfile=11 appArmorProfile=12
Service metadata=1 spec=2 status=3
ServiceAccount metadata=1 secrets=2 imagePullSecrets=3 automountServiceAccountToken=4
ServiceAccountList metadata=1 items=2
ServiceAccountTokenProjection audience=1 expirationSeconds=2 path=3
ServiceList metadata=1 items=2
ServicePort name=1 protocol=2 appProtocol=6 port=3 targetPort=4 nodePort=5
ServiceSpec ports=1 selector=2 clusterIP=3 clusterIPs=18 type=4 externalIPs=5 sessionAffinity=7 loadBalancerIP=8 loadBalancerSourceRanges=9 externalName=10 externalTrafficPolicy=11 healthCheckNodePort=12 publishNotReadyAddresses=13 sessionAffinityConfig=14 ipFamilies=19 ipFamilyPolicy=17 allocateLoadBalancerNodePorts=20 loadBalancerClass=21 internalTrafficPolicy=22 trafficDistribution=23
ServiceStatus loadBalancer=1 conditions=2
SessionAffinityConfig clientIP=1
SleepAction seconds=1
StorageOSPersistentVolumeSource volumeName=1 volumeNamespace=2 fsType=3 readOnly=4 secretRef=5
StorageOSVolumeSource volumeName=1 volumeNamespace=2 fsType=3 readOnly=4 secretRef=5
Sysctl name=1 value=2
TCPSocketAction port=1 host=2
Taint key=1 value=2 effect=3 timeAdded=4
Toleration key=1 operator=2 value=3 effect=4 tolerationSeconds=5
TopologySelectorLabelRequirement key=1 values=2
TopologySelectorTerm matchLabelExpressions=1
TopologySpreadConstraint maxSkew=1 topologyKey=2 whenUnsatisfiable=3 labelSelector=4 minDomains=5 nodeAffinityPolicy=6 nodeTaintsPolicy=7 matchLabelKeys=8
TypedLocalObjectReference apiGroup=1 kind=2 name=3
TypedObjectReference apiGroup=1 kind=2 name=3 namespace=4
Volume name=1 {_inline(2, _VOLUME_SOURCE)}
VolumeDevice name=1 devicePath=2
VolumeMount name=1 readOnly=2 recursiveReadOnly=7 mountPath=3 subPath=4 mountPropagation=5 subPathExpr=6
VolumeMountStatus name=1 mountPath=2 readOnly=3 recursiveReadOnly=4
VolumeNodeAffinity required=1
VolumeProjection secret=1 downwardAPI=2 configMap=3 serviceAccountToken=4 clusterTrustBundle=5
VolumeResourceRequirements limits=1 requests=2
VolumeSource {_VOLUME_SOURCE}
VsphereVirtualDiskVolumeSource volumePath=1 fsType=2 storagePolicyName=3 storagePolicyID=4
WeightedPodAffinityTerm weight=1 podAffinityTerm=2
WindowsSecurityContextOptions gmsaCredentialSpecName=1 gmsaCredentialSpec=2 runAsUserName=3 hostProcess=4
"""

# The option types clients send as request bodies (DeleteOptions from every typed client's Delete).
_META_TABLE = """
DeleteOptions gracePeriodSeconds=1 preconditions=2 orphanDependents=3 propagationPolicy=4 dryRun=5 ignoreStoreReadErrorWithClusterBreakingPotential=6
Preconditions uid=1 resourceVersion=2
Condition type=1 status=2 observedGeneration=3 lastTransitionTime=4 reason=5 message=6
ListMeta selfLink=1 resourceVersion=2 continue=3 remainingItemCount=4
"""

_POLICY_TABLE = """
Eviction metadata=1 deleteOptions=2
"""

# RuleWithOperations inlines a Rule (field 2) in JSON.
_ADMISSION_TABLE = """
RuleWithOperations operations=1 apiGroups=2.1 apiVersions=2.2 resources=2.3 scope=2.4
"""


def parse_table(prefix: str, text: str) -> dict[str, dict[str, NumberSpec]]:
    """``Message field=N field=O.I ...`` lines as register_numbers wants them."""
    out: dict[str, dict[str, NumberSpec]] = {}
    for line in text.strip().splitlines():
        message, *pairs = line.split()
        fields: dict[str, NumberSpec] = {}
        for pair in pairs:
            name, _, spec = pair.partition("=")
            outer, _, inner = spec.partition(".")
            fields[name] = (int(outer), int(inner)) if inner else int(outer)
        out[prefix + message] = fields
    return out


NUMBERS: dict[str, dict[str, NumberSpec]] = {
    **parse_table(CORE, _CORE_TABLE),
    **parse_table(META, _META_TABLE),
    **parse_table(POLICY, _POLICY_TABLE),
    **parse_table("io.k8s.api.admissionregistration.v1.", _ADMISSION_TABLE),
}

register_numbers(NUMBERS)
