//go:build !linux

package core

// lastLevelCacheBytes returns 0: the cache size is only read on Linux.
func lastLevelCacheBytes() uintptr { return 0 }
