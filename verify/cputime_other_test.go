//go:build !unix

package verify_test

import "time"

// processCPU cannot read the CPU time here: the benchmarks report
// wall-clock time only.
func processCPU() (time.Duration, bool) { return 0, false }
