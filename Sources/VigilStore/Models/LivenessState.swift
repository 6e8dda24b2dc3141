import VigilAPI

/// Where a host stands; defined with the HTTP API's types (VigilAPI), which `vigil status` and
/// `vigil-bench` decode without the store.
public typealias LivenessState = VigilAPI.LivenessState
