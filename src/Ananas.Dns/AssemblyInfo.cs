// Every stackalloc in this library is written before it is read, so zeroing it first is wasted work on
// hot paths (name parsing, decompression, hashing).
[module: System.Runtime.CompilerServices.SkipLocalsInit]
