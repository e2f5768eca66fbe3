using System.Runtime.InteropServices;

namespace Ananas.Server.Interop;

/// <summary>
/// The Linux batch datagram calls (recvmmsg(2), sendmmsg(2)) and the structures they take, laid out as the C
/// ABI on 64- and 32-bit Linux (pointer-sized fields are <c>nint</c>/<c>nuint</c>; sequential layout supplies the
/// padding). Blittable, so the generated stubs pass them without marshalling.
/// </summary>
internal static unsafe partial class LinuxSockets
{
    private const string Libc = "libc";

    /// <summary>recvmmsg: return after the first datagram with whatever else is already queued.</summary>
    public const int MsgWaitForOne = 0x10000;

    /// <summary>msg_flags: the datagram was longer than the buffer and was cut.</summary>
    public const int MsgTrunc = 0x20;

    public const int EIntr = 4;
    public const int EBadF = 9;
    public const int EAgain = 11;
    public const int EInval = 22;
    public const int ENoSys = 38;
    public const int ENotSock = 88;
    public const int EOpNotSupp = 95;

    public const int SolSocket = 1;
    public const int SoRcvTimeo = 20;

    /// <summary>Room for a sockaddr_in (16) or sockaddr_in6 (28).</summary>
    public const int SockAddrCapacity = 32;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public byte* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        /// <summary>Bytes received or sent for this message.</summary>
        public uint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeVal
    {
        public nint Seconds;
        public nint Microseconds;
    }

    /// <summary>Receives up to <paramref name="count"/> datagrams; the number received, or -1 with errno.</summary>
    [LibraryImport(Libc, EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int RecvMMsg(nint socket, MMsgHdr* messages, uint count, int flags, void* timeout);

    /// <summary>Sends one datagram to a raw socket address; the bytes sent, or -1 with errno.</summary>
    [LibraryImport(Libc, EntryPoint = "sendto", SetLastError = true)]
    public static partial nint SendTo(nint socket, byte* buffer, nuint length, int flags, byte* address, uint addressLength);

    /// <summary>Sends up to <paramref name="count"/> datagrams; the number sent (maybe fewer), or -1 with errno for the first.</summary>
    [LibraryImport(Libc, EntryPoint = "sendmmsg", SetLastError = true)]
    public static partial int SendMMsg(nint socket, MMsgHdr* messages, uint count, int flags);
}
