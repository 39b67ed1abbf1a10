// Package debstep runs inside build steps, on the image's files, as the
// frontend binary's helper commands; never in the frontend process. It
// installs unpacked .debs into an image without apt (Install) and gives
// the files an apt upgrade left unchanged their original metadata
// (KeepUnchanged), working on real directories through *os.Root.
//
// What it shares with the frontend side, package deb, comes from there:
// the control-file parser, the database layout rule and dpkg's version
// order, so that both sides read the same database the same way.
package debstep
