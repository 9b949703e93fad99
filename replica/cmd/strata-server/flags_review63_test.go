package main

import (
	"io"
	"testing"
)

// Review 63: the address checks added in review 56 take every usable
// host:port form.
func TestReview63AddressFlagsAcceptValidForms(t *testing.T) {
	for _, args := range [][]string{
		{"-http", "[::1]:7070", "-raft", "[::1]:7071"},
		{"-http", ":7070"},
		{"-http", "localhost:7070", "-raft", "0.0.0.0:7071", "-raft-advertise", "node1.example:7071"},
		{"-http", "127.0.0.1:65535", "-raft", "127.0.0.1:1"},
		{"-http", "127.0.0.1:0", "-raft", "127.0.0.1:0"},
		{"-join", "[::1]:7070"},
		{"-join", "node-1.example.com:7070", "-http-advertise", "[fe80::1%eth0]:7070"},
		{"-http", "localhost:http"},
	} {
		if _, err := parse(append([]string{"-id", "n1"}, args...), io.Discard); err != nil {
			t.Errorf("%v refused: %v", args, err)
		}
	}
}
