package core

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lastLevelCacheBytes returns the size of the highest-level data or unified
// cache of CPU 0, as Linux reports it under /sys/devices/system/cpu, or 0
// when it cannot be read.
func lastLevelCacheBytes() uintptr {
	return lastLevelCacheUnder("/sys/devices/system/cpu/cpu0/cache")
}

// lastLevelCacheUnder is lastLevelCacheBytes for the cache directory root,
// which holds one index* directory per cache with its type, level and size.
func lastLevelCacheUnder(root string) uintptr {
	dirs, err := filepath.Glob(filepath.Join(root, "index*"))
	if err != nil {
		return 0
	}
	level, size := 0, uintptr(0)
	for _, dir := range dirs {
		kind, err := os.ReadFile(filepath.Join(dir, "type"))
		if err != nil || strings.TrimSpace(string(kind)) == "Instruction" {
			continue
		}
		l, err := readSysInt(filepath.Join(dir, "level"), "")
		if err != nil {
			continue
		}
		s, err := readSysInt(filepath.Join(dir, "size"), "K")
		if err != nil || l < level {
			continue
		}
		level, size = l, uintptr(s)<<10
	}
	return size
}

// readSysInt reads a file that contains a decimal number followed by
// suffix, such as "32768K".
func readSysInt(path, suffix string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(string(b)), suffix))
}
