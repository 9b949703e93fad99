//go:build !unix

package main

import "os/exec"

// killGroup leaves cmd as it is: cancellation kills go only.
func killGroup(*exec.Cmd) {}
