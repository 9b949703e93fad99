//go:build !unix

package main

import "os"

// maxRSS returns 0: peak RSS is only measured on Unix.
func maxRSS(*os.ProcessState) int64 { return 0 }

// selfPeakRSS returns 0: not known here.
func selfPeakRSS() int64 { return 0 }
