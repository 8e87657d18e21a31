//go:build !purego

package core

import "golang.org/x/sys/cpu"

// kernelSupported reports whether this CPU and its operating system support
// the instructions of kernel k. x/sys/cpu reports AVX and AVX-512 only when
// the operating system saves their registers.
func kernelSupported(k kernelKind) bool {
	x := cpu.X86
	switch k {
	case kernelGo:
		return true
	case kernelAVX2:
		return x.HasAVX2 && x.HasFMA
	case kernelAVX512:
		return x.HasAVX2 && x.HasFMA && x.HasAVX512F && x.HasAVX512DQ &&
			x.HasAVX512BW && x.HasAVX512VL
	}
	return false
}
