package core

// kernelKind names one implementation of the row kernels. All of them return
// the same bits (see kernel.go); they differ only in speed.
type kernelKind int

const (
	kernelGo     kernelKind = iota // pure Go, on every platform
	kernelAVX2                     // amd64 with AVX2 and FMA
	kernelAVX512                   // amd64 with AVX-512 F, DQ, BW and VL
)

// kernelNames are the names that tests pass to select a kernel.
var kernelNames = [...]string{
	kernelGo:     "purego",
	kernelAVX2:   "avx2",
	kernelAVX512: "avx512",
}

func (k kernelKind) String() string { return kernelNames[k] }

// activeKernel is the kernel in use: the fastest one this CPU supports,
// unless a test selected another. Tests change it only while no call runs.
var activeKernel = bestKernel()

// bestKernel returns the fastest kernel this CPU and build support.
func bestKernel() kernelKind {
	for k := kernelAVX512; k > kernelGo; k-- {
		if kernelSupported(k) {
			return k
		}
	}
	return kernelGo
}
