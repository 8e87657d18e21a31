package core

// Internal sizes that tests use to pick shapes. A sweep of the class count
// past twice the number of partial sums covers every tail of the
// exponential sums, and a batch of a few blocks covers the loss
// accumulation in block order.
const (
	Partials32    = partials32
	Partials64    = partials64
	BlockElements = blockElements
	ChunkElements = chunkElements
)

// KernelNames returns the names of the row kernels that this CPU supports,
// the pure-Go reference first.
func KernelNames() []string {
	var names []string
	for k := range kernelKind(len(kernelNames)) {
		if kernelSupported(k) {
			names = append(names, k.String())
		}
	}
	return names
}

// UseKernel makes the kernel called name active and returns a function that
// restores the previous one. The kernel is a package-wide setting, so no
// other call of the package may run until the restore.
func UseKernel(name string) (restore func()) {
	previous := activeKernel
	for k := range kernelKind(len(kernelNames)) {
		if k.String() == name && kernelSupported(k) {
			activeKernel = k
			return func() { activeKernel = previous }
		}
	}
	panic("core: kernel " + name + " is not supported on this CPU")
}

// ForceStreaming makes every gradient that may be streamed (see
// streamGradient) streamed, whatever its size, and returns a function that
// restores the threshold. Like UseKernel, it is a package-wide setting.
func ForceStreaming() (restore func()) {
	previous := streamMin
	streamMin = 0
	return func() { streamMin = previous }
}

// DisableSmallRows turns the short-row path of SparseCrossEntropy off and
// returns a function that turns it back on. Like UseKernel, it is a
// package-wide setting.
func DisableSmallRows() (restore func()) {
	smallRowsOn = false
	return func() { smallRowsOn = true }
}
