package schema

// Group versions that client-go still carries as Go types but that the API server no longer
// serves (Kubernetes deprecation guide): a manifest using one decodes fine here and then fails
// to install. The chart's floor is Kubernetes 1.29 (Chart.yaml kubeVersion).
var removedGroupVersions = map[string]string{
	"extensions/v1beta1":                   "1.22",
	"apps/v1beta1":                         "1.16",
	"apps/v1beta2":                         "1.16",
	"networking.k8s.io/v1beta1":            "1.22",
	"rbac.authorization.k8s.io/v1beta1":    "1.22",
	"admissionregistration.k8s.io/v1beta1": "1.22 (webhooks)",
	"apiextensions.k8s.io/v1beta1":         "1.22",
	"apiregistration.k8s.io/v1beta1":       "1.22",
	"authentication.k8s.io/v1beta1":        "1.22",
	"authorization.k8s.io/v1beta1":         "1.22",
	"certificates.k8s.io/v1beta1":          "1.22",
	"coordination.k8s.io/v1beta1":          "1.22",
	"scheduling.k8s.io/v1beta1":            "1.22",
	"storage.k8s.io/v1beta1":               "1.22 (1.27 for CSIStorageCapacity)",
	"policy/v1beta1":                       "1.25",
	"batch/v1beta1":                        "1.25",
	"autoscaling/v2beta1":                  "1.25",
	"autoscaling/v2beta2":                  "1.26",
	"discovery.k8s.io/v1beta1":             "1.25",
	"events.k8s.io/v1beta1":                "1.25",
	"node.k8s.io/v1beta1":                  "1.25",
	"flowcontrol.apiserver.k8s.io/v1beta1": "1.26",
	"flowcontrol.apiserver.k8s.io/v1beta2": "1.29",
	"flowcontrol.apiserver.k8s.io/v1beta3": "1.32",
}
