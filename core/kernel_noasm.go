//go:build !amd64 || purego

package core

// Without assembly (another architecture, or the purego build tag) every
// row kernel is the pure-Go reference.

func kernelSupported(k kernelKind) bool { return k == kernelGo }

func maxKernel32(x []float32) float32 { return maxGo32(x) }

func maxKernel64(x []float64) float64 { return maxGo64(x) }

func expSumKernel32(dst, x []float32, m float32, acc *[partials32]float32) {
	expSumGo32(dst, x, m, acc)
}

func expSumKernel64(dst, x []float64, m float64, acc *[partials64]float64) {
	expSumGo64(dst, x, m, acc)
}

func scaleKernel32(dst []float32, a float32) { scaleGo32(dst, a) }

func scaleKernel64(dst []float64, a float64) { scaleGo64(dst, a) }

func combineKernel32(acc *[partials32]float32) float32 { return combineGo32(acc) }

func combineKernel64(acc *[partials64]float64) float64 { return combineGo64(acc) }
