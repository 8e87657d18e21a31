//go:build !amd64 || purego

package core

// Without assembly (another architecture, or the purego build tag) every
// row kernel is the pure-Go reference.

func kernelSupported(k kernelKind) bool { return k == kernelGo }

func maxKernel32(x []float32) float32 { return maxGo32(x) }

func maxKernel64(x []float64) float64 { return maxGo64(x) }

func expSumKernel32(dst, x []float32, m float32, acc *[partials32]float32, _ uintptr, fresh bool) {
	expSumGo32(dst, x, m, acc, fresh)
}

func expSumKernel64(dst, x []float64, m float64, acc *[partials64]float64, _ uintptr, fresh bool) {
	expSumGo64(dst, x, m, acc, fresh)
}

func scaleKernel32(dst, src []float32, a float32, _ uintptr, _ bool) {
	scaleGo32(dst, src, a)
}

func scaleKernel64(dst, src []float64, a float64, _ uintptr, _ bool) {
	scaleGo64(dst, src, a)
}

func combineKernel32(acc *[partials32]float32) float32 { return combineGo32(acc) }

func combineKernel64(acc *[partials64]float64) float64 { return combineGo64(acc) }

func expSumStreamKernel32(dst, x []float32, m float32, acc *[partials32]float32, _ uintptr,
	fresh bool, sdst, ssrc []float32, a float32) {
	scaleGo32(sdst, ssrc, a)
	expSumGo32(dst, x, m, acc, fresh)
}

func expSumStreamKernel64(dst, x []float64, m float64, acc *[partials64]float64, _ uintptr,
	fresh bool, sdst, ssrc []float64, a float64) {
	scaleGo64(sdst, ssrc, a)
	expSumGo64(dst, x, m, acc, fresh)
}

func storeStreamed[T Float](g []T, i int, v T) { g[i] = v }

func storeFence() {}
