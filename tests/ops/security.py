# SPDX-License-Identifier: GPL-2.0-or-later
# tests/ops/security.py - the scripted attempts of tests/ops/security.sh.
#
#   security.py setup-root ROOT   as root: the directories of the tree
#   security.py setup-a ROOT      as user A (uid 1, groups 1 and 4242): A's
#                                 files, created by A himself
#   security.py setup-fix ROOT    as root: what only root may set up
#   security.py run ROLE ROOT     as B (uid 65534, groups 65534 and 4242)
#                                 or C (uid 65534, no group): every attempt,
#                                 one line "ROLE id: result" each
#   security.py state ROOT [ALIAS] as root: every name under ROOT with type,
#                                 mode, owner, links, size, content digest,
#                                 symlink target and xattrs (no times)
#   security.py race ROOT SECS    as B: renames directories under a walker
#                                 that opens relative to them (the jail)
#   security.py renamer DIR SECS  as root: the same renames in the backing
#                                 dir (DIR = its b/race), during the race
#   security.py watch OUT PATH... as root: inotify on each PATH, events to OUT
#
# security.sh runs the same sequence on a plain directory of the backing
# filesystem and through the mount and compares the outputs line by line.
# ROOT's absolute path is printed as "ROOT", so both outputs are equal when
# the two filesystems answer alike.  Everything here is deterministic: no
# times, no inode numbers, attempts in a fixed order.
import ctypes
import errno
import hashlib
import mmap
import os
import signal
import stat
import sys
import time

A_UID, A_GID = 1, 1
B_UID = 65534
SHARED_GID = 4242
MODES = (0o600, 0o640, 0o644, 0o660, 0o666, 0o604, 0o606)

# POSIX ACLs in their xattr form: version 2, then (tag, perm, id) entries.
ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = \
    0x01, 0x02, 0x04, 0x08, 0x10, 0x20
NOID = 0xffffffff
ACL_ACCESS, ACL_DEFAULT = "system.posix_acl_access", "system.posix_acl_default"


def acl(*entries):
    import struct
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, perm, i)
                                           for t, perm, i in entries)


ROOT = ""
ALIAS = None    # state: another path that stands for ROOT (the mount's)


def out(line):
    if ALIAS:
        line = line.replace(ALIAS, "ROOT")
    sys.stdout.write(line.replace(ROOT, "ROOT") + "\n")
    sys.stdout.flush()


def res(fn):
    """The result of fn(): 'OK', 'OK <value>', or the errno's name."""
    try:
        v = fn()
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    except Exception as e:  # a bug of this script: show it, don't hide it
        return "EXC " + type(e).__name__ + " " + str(e)
    if v is None:
        return "OK"
    if isinstance(v, bytes):
        return "OK " + repr(v)      # one printable line, NULs and all
    return "OK " + str(v)


def p(*parts):
    return os.path.join(ROOT, *parts)


def mode_of(path):
    return "%04o" % stat.S_IMODE(os.stat(path).st_mode)


def owner_of(path):
    st = os.lstat(path)
    return "%d:%d:%04o" % (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))


def read_all(path, flags=os.O_RDONLY):
    fd = os.open(path, flags)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def open_close(path, flags, mode=0o644):
    os.close(os.open(path, flags, mode))


def write_at(path, data, off=0, flags=os.O_WRONLY):
    fd = os.open(path, flags)
    try:
        os.pwrite(fd, data, off)
    finally:
        os.close(fd)


def put(path, data, mode):
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
    os.chmod(path, mode)


def map_attempt(path, oflags, prot, flags, store=False):
    """mmap the first page of path opened with oflags; read (or store) a byte."""
    fd = os.open(path, oflags)
    try:
        m = mmap.mmap(fd, 4096 if os.fstat(fd).st_size >= 4096 else
                      os.fstat(fd).st_size, flags=flags, prot=prot)
    finally:
        os.close(fd)
    try:
        if store:
            m[0:1] = b"M"
            if flags == mmap.MAP_SHARED:
                m.flush()
        return m[0:8]
    finally:
        m.close()


def ftruncate_attempt(path, oflags, size):
    fd = os.open(path, oflags)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)


# --------------------------------------------------------------- set-up

def setup_root():
    os.chmod(ROOT, 0o755)
    parent = os.path.dirname(ROOT)
    # Reached with ".." from ROOT (the mount point's parent on the mount).
    put(os.path.join(parent, "outside"), b"outside\n", 0o644)
    put(os.path.join(parent, "outside-secret"), b"outside-secret\n", 0o600)
    for d, uid, gid, mode in (("a", A_UID, A_GID, 0o755),
                              ("b", B_UID, B_UID, 0o755),
                              ("tmp", 0, 0, 0o1777),
                              ("shared", A_UID, SHARED_GID, 0o2775),
                              ("bsgid", B_UID, A_GID, 0o2777),
                              ("closed", A_UID, A_GID, 0o700),
                              ("wonly", A_UID, A_GID, 0o733)):
        os.mkdir(p(d))
        os.chown(p(d), uid, gid)
        os.chmod(p(d), mode)


def setup_a():
    os.umask(0)
    for m in MODES:
        f = p("a", "f%04o" % m)
        put(f, ("A's %04o file\n" % m).encode(), m)
        os.chown(f, -1, SHARED_GID)        # A is a member of 4242
        os.setxattr(f, "user.u", b"A's attr")
    put(p("a", "g1-0640"), b"A's group-1 file\n", 0o640)   # group 1: not B's
    put(p("a", "g1-0660"), b"A's group-1 rw file\n", 0o660)
    for name in ("suid-write", "suid-trunc", "suid-otrunc", "suid-ftrunc",
                 "suid-mmap", "suid-link"):
        f = p("a", name)
        put(f, b"set-id file\n", 0o6777)
        os.chown(f, -1, SHARED_GID)
        os.chmod(f, 0o6777)                # chown cleared the bits
    put(p("a", "sgid-nox"), b"setgid without group x\n", 0o2666)
    os.chown(p("a", "sgid-nox"), -1, SHARED_GID)
    os.chmod(p("a", "sgid-nox"), 0o2666)
    os.mkdir(p("a", "sub"), 0o755)
    put(p("a", "sub", "f"), b"in A's sub\n", 0o644)
    os.mkdir(p("a", "open"), 0o777)        # no sticky bit
    put(p("a", "open", "victim"), b"A's file in an open dir\n", 0o644)
    os.mkdir(p("a", "open", "adir"), 0o755)     # A's dir in a 0777 dir
    os.mkdir(p("a", "open", "adir2"), 0o755)
    put(p("closed", "f"), b"closed\n", 0o644)
    put(p("wonly", "f"), b"write-only dir\n", 0o666)
    put(p("tmp", "a-file"), b"A's file in /tmp\n", 0o666)
    put(p("tmp", "a-file2"), b"A's second file in /tmp\n", 0o644)
    os.mkdir(p("tmp", "a-dir"), 0o777)
    os.mkdir(p("shared", "a-sub"), 0o775)
    os.symlink("f0600", p("a", "link-to-0600"))
    # ACLs: a named-user entry that denies B and C what "other" allows, one
    # that grants what the mode bits refuse, a directory whose default ACL
    # lets them create, one whose named group entry does (B only).
    put(p("a", "acl-deny"), b"ACL denies uid 65534\n", 0o644)
    os.setxattr(p("a", "acl-deny"), ACL_ACCESS, acl(
        (ACL_USER_OBJ, 6, NOID), (ACL_USER, 0, B_UID), (ACL_GROUP_OBJ, 4, NOID),
        (ACL_MASK, 4, NOID), (ACL_OTHER, 4, NOID)))
    put(p("a", "acl-grant"), b"ACL grants uid 65534\n", 0o600)
    os.setxattr(p("a", "acl-grant"), ACL_ACCESS, acl(
        (ACL_USER_OBJ, 6, NOID), (ACL_USER, 6, B_UID), (ACL_GROUP_OBJ, 0, NOID),
        (ACL_MASK, 6, NOID), (ACL_OTHER, 0, NOID)))
    put(p("a", "acl-group"), b"ACL grants group 4242\n", 0o600)
    os.setxattr(p("a", "acl-group"), ACL_ACCESS, acl(
        (ACL_USER_OBJ, 6, NOID), (ACL_GROUP_OBJ, 0, NOID), (ACL_GROUP, 4, SHARED_GID),
        (ACL_MASK, 4, NOID), (ACL_OTHER, 0, NOID)))
    os.mkdir(p("a", "acl-dir"), 0o755)
    rwx_b = acl((ACL_USER_OBJ, 7, NOID), (ACL_USER, 7, B_UID), (ACL_GROUP_OBJ, 5, NOID),
                (ACL_MASK, 7, NOID), (ACL_OTHER, 5, NOID))
    os.setxattr(p("a", "acl-dir"), ACL_ACCESS, rwx_b)
    os.setxattr(p("a", "acl-dir"), ACL_DEFAULT, rwx_b)


def setup_fix():
    # Root-only: a file of B's in a group B is not in, set-id files of B's,
    # trusted.* and security.* xattrs.
    put(p("b", "own-g1"), b"B's file, group 1\n", 0o644)
    os.chown(p("b", "own-g1"), B_UID, A_GID)
    put(p("b", "own-suid"), b"B's set-id file\n", 0o6755)
    os.chown(p("b", "own-suid"), B_UID, SHARED_GID)
    os.chmod(p("b", "own-suid"), 0o6755)
    put(p("b", "own-suid2"), b"B's set-id file 2\n", 0o6755)
    os.chown(p("b", "own-suid2"), B_UID, SHARED_GID)
    os.chmod(p("b", "own-suid2"), 0o6755)
    put(p("b", "own-suid-c"), b"C's set-id file\n", 0o6755)
    os.chown(p("b", "own-suid-c"), B_UID, B_UID)
    os.chmod(p("b", "own-suid-c"), 0o6755)
    for f in ("f0644", "f0600"):
        os.setxattr(p("a", f), "trusted.t", b"root's trusted")
        os.setxattr(p("a", f), "security.s", b"root's security")


# --------------------------------------------------------------- attempts

def run(role):
    os.umask(0)
    n = [0]

    def t(name, fn):
        n[0] += 1
        out("%s %s: %s" % (role, name, res(fn)))

    R, W, RW = os.O_RDONLY, os.O_WRONLY, os.O_RDWR
    SH, PR = mmap.MAP_SHARED, mmap.MAP_PRIVATE
    PRD, PWR = mmap.PROT_READ, mmap.PROT_READ | mmap.PROT_WRITE
    mine = p("b", role + "-own")
    put(mine, b"mine\n", 0o644)

    # Another user's files, by mode (group 4242 is B's too, not C's).
    files = ["f%04o" % m for m in MODES] + ["g1-0640", "g1-0660"]
    for name in files:
        f = p("a", name)
        t(name + " read", lambda: read_all(f))
        t(name + " open O_WRONLY", lambda: open_close(f, W))
        t(name + " open O_RDWR", lambda: open_close(f, RW))
        t(name + " open O_WRONLY|O_APPEND", lambda: open_close(f, W | os.O_APPEND))
        t(name + " open O_RDONLY|O_NOATIME", lambda: open_close(f, R | os.O_NOATIME))
        t(name + " access R", lambda: os.access(f, os.R_OK))
        t(name + " access W", lambda: os.access(f, os.W_OK))
        t(name + " mmap ro shared read", lambda: map_attempt(f, R, PRD, SH))
        t(name + " mmap ro shared PROT_WRITE", lambda: map_attempt(f, R, PWR, SH))
        t(name + " mmap ro private store", lambda: map_attempt(f, R, PWR, PR, True))
        t(name + " mmap rw shared read", lambda: map_attempt(f, RW, PWR, SH))
        t(name + " mmap wo shared read", lambda: map_attempt(f, W, PRD, SH))
        t(name + " truncate same size", lambda: os.truncate(f, os.stat(f).st_size))
        t(name + " ftruncate O_RDONLY", lambda: ftruncate_attempt(f, R, 3))
        t(name + " chmod", lambda: os.chmod(f, 0o666))
        t(name + " chown to self", lambda: os.chown(f, os.getuid(), -1))
        t(name + " chgrp 4242", lambda: os.chown(f, -1, SHARED_GID))
        t(name + " chown -1 -1", lambda: os.chown(f, -1, -1))
        t(name + " utime explicit", lambda: os.utime(f, (0, 0)))
        t(name + " utime now", lambda: os.utime(f, None))
        t(name + " link", lambda: os.link(f, p("b", role + "-link-" + name)))
        t(name + " rename out", lambda: os.rename(f, p("b", role + "-stolen")))
        t(name + " unlink", lambda: os.unlink(f))
        t(name + " getxattr user", lambda: os.getxattr(f, "user.u"))
        t(name + " setxattr user", lambda: os.setxattr(f, "user." + role, b"x"))
        t(name + " removexattr user", lambda: os.removexattr(f, "user." + role))
        t(name + " getxattr trusted", lambda: os.getxattr(f, "trusted.t"))
        t(name + " setxattr trusted", lambda: os.setxattr(f, "trusted.x", b"x"))
        t(name + " getxattr security", lambda: os.getxattr(f, "security.s"))
        t(name + " setxattr security", lambda: os.setxattr(f, "security.x", b"x"))
        t(name + " listxattr", lambda: sorted(os.listxattr(f)))
        t(name + " state", lambda: owner_of(f))
    # Writes that change data, on the files B may write (C: the 0606 one).
    for name in ("f0666", "f0660", "f0606"):
        f = p("a", name)
        t(name + " pwrite", lambda: write_at(f, role.encode(), 0))
        t(name + " mmap rw shared store", lambda: map_attempt(f, RW, PWR, SH, True))
        t(name + " ftruncate O_RDWR", lambda: ftruncate_attempt(f, RW, 40))
        t(name + " truncate 30", lambda: os.truncate(f, 30))
        t(name + " content", lambda: read_all(f))

    # Set-user-ID and set-group-ID bits after another user's changes.
    def kills(name, fn):
        f = p("a", name)
        t(name + " change", fn)
        t(name + " mode after", lambda: mode_of(f))
    kills("suid-write", lambda: write_at(p("a", "suid-write"), b"w"))
    kills("suid-trunc", lambda: os.truncate(p("a", "suid-trunc"), 2))
    kills("suid-otrunc", lambda: open_close(p("a", "suid-otrunc"), W | os.O_TRUNC))
    kills("suid-ftrunc", lambda: ftruncate_attempt(p("a", "suid-ftrunc"), RW, 5))
    kills("suid-mmap", lambda: map_attempt(p("a", "suid-mmap"), RW, PWR, SH, True))
    kills("sgid-nox", lambda: write_at(p("a", "sgid-nox"), b"w"))
    t("suid-link link", lambda: os.link(p("a", "suid-link"), p("b", role + "-suidlink")))
    # ... and after the owner's own changes (B's files; C has B's uid).
    if role == "B":
        t("own-suid write", lambda: write_at(p("b", "own-suid"), b"w"))
        t("own-suid mode", lambda: mode_of(p("b", "own-suid")))
        t("own-suid2 chgrp 4242", lambda: os.chown(p("b", "own-suid2"), -1, SHARED_GID))
        t("own-suid2 mode", lambda: owner_of(p("b", "own-suid2")))
        t("own-g1 chmod 2755 (not in group 1)", lambda: os.chmod(p("b", "own-g1"), 0o2755))
        t("own-g1 mode", lambda: owner_of(p("b", "own-g1")))
        t("own-g1 chmod 4755", lambda: os.chmod(p("b", "own-g1"), 0o4755))
        t("own-g1 mode 2", lambda: owner_of(p("b", "own-g1")))
        t("own-g1 chgrp 4242", lambda: os.chown(p("b", "own-g1"), -1, SHARED_GID))
        t("own-g1 mode 3", lambda: owner_of(p("b", "own-g1")))
        t("own-g1 chgrp 1", lambda: os.chown(p("b", "own-g1"), -1, A_GID))
        t("own-g1 chmod 2755 in 4242", lambda: os.chmod(p("b", "own-g1"), 0o2755))
        t("own-g1 mode 4", lambda: owner_of(p("b", "own-g1")))
    else:
        t("own-suid-c chgrp 4242 (not a member)",
          lambda: os.chown(p("b", "own-suid-c"), -1, SHARED_GID))
        t("own-suid-c chgrp to own", lambda: os.chown(p("b", "own-suid-c"), -1, B_UID))
        t("own-suid-c mode", lambda: owner_of(p("b", "own-suid-c")))
        t("own-suid-c utime explicit", lambda: os.utime(p("b", "own-suid-c"), (0, 0)))
        t("own-suid-c truncate", lambda: os.truncate(p("b", "own-suid-c"), 1))
        t("own-suid-c mode 2", lambda: owner_of(p("b", "own-suid-c")))
    t("own chown to A", lambda: os.chown(mine, A_UID, -1))
    t("own mknod char device", lambda: os.mknod(p("b", role + "-dev"),
                                                 stat.S_IFCHR | 0o666, os.makedev(1, 3)))
    t("own mkfifo", lambda: os.mkfifo(p("b", role + "-fifo"), 0o666))

    # POSIX ACLs of A's files and directory.
    for name in ("acl-deny", "acl-grant", "acl-group"):
        f = p("a", name)
        t(name + " read", lambda: read_all(f))
        t(name + " open O_RDWR", lambda: open_close(f, RW))
        t(name + " access R", lambda: os.access(f, os.R_OK))
        t(name + " get ACL", lambda: os.getxattr(f, ACL_ACCESS))
        t(name + " set ACL", lambda: os.setxattr(f, ACL_ACCESS, acl(
            (ACL_USER_OBJ, 7, NOID), (ACL_GROUP_OBJ, 7, NOID), (ACL_OTHER, 7, NOID))))
        t(name + " remove ACL", lambda: os.removexattr(f, ACL_ACCESS))
    t("create in ACL dir", lambda: put(p("a", "acl-dir", role + "-f"), b"x", 0o666))
    t("its state", lambda: owner_of(p("a", "acl-dir", role + "-f")))
    t("its ACL", lambda: os.getxattr(p("a", "acl-dir", role + "-f"), ACL_ACCESS))
    def umask_022(fn):
        old = os.umask(0o022)
        try:
            return fn()
        finally:
            os.umask(old)
    t("create in ACL dir, umask 022", lambda: umask_022(
        lambda: os.close(os.open(p("a", "acl-dir", role + "-u"), W | os.O_CREAT, 0o666))))
    t("its state ", lambda: owner_of(p("a", "acl-dir", role + "-u")))
    t("mkdir in ACL dir, umask 022", lambda: umask_022(
        lambda: os.mkdir(p("a", "acl-dir", role + "-ud"), 0o777)))
    t("its state  ", lambda: owner_of(p("a", "acl-dir", role + "-ud")))
    t("create in own dir, umask 022", lambda: umask_022(
        lambda: os.close(os.open(p("b", role + "-u"), W | os.O_CREAT, 0o666))))
    t("mknod fifo in own dir, umask 022", lambda: umask_022(
        lambda: os.mkfifo(p("b", role + "-ufifo"), 0o666)))
    t("their state", lambda: owner_of(p("b", role + "-u")) + " " + owner_of(p("b", role + "-ufifo")))
    t("mkdir in ACL dir", lambda: os.mkdir(p("a", "acl-dir", role + "-d"), 0o777))
    t("its default ACL", lambda: os.getxattr(p("a", "acl-dir", role + "-d"), ACL_DEFAULT))
    # An ACL on one's own file, then chmod: the mask follows the group bits.
    own_acl = p("b", role + "-acl")
    put(own_acl, b"own ACL\n", 0o640)
    t("own set ACL", lambda: os.setxattr(own_acl, ACL_ACCESS, acl(
        (ACL_USER_OBJ, 6, NOID), (ACL_USER, 6, A_UID), (ACL_GROUP_OBJ, 4, NOID),
        (ACL_MASK, 6, NOID), (ACL_OTHER, 0, NOID))))
    t("own ACL mode", lambda: owner_of(own_acl))
    t("own chmod 0604", lambda: os.chmod(own_acl, 0o604))
    t("own ACL after chmod", lambda: os.getxattr(own_acl, ACL_ACCESS))

    # Directories: A's 0755, closed 0700, write-only 0733, setgid ones.
    t("create in A's dir", lambda: open_close(p("a", role + "-new"), W | os.O_CREAT))
    t("mkdir in A's dir", lambda: os.mkdir(p("a", role + "-newdir")))
    t("symlink in A's dir", lambda: os.symlink("x", p("a", role + "-sl")))
    t("mkfifo in A's dir", lambda: os.mkfifo(p("a", role + "-fifo")))
    t("link into A's dir", lambda: os.link(mine, p("a", role + "-ln")))
    t("rename into A's dir", lambda: os.rename(mine, p("a", role + "-moved")))
    t("rename out of A's dir", lambda: os.rename(p("a", "f0666"), p("b", role + "-f0666")))
    t("rename over A's file", lambda: os.rename(mine, p("a", "f0666")))
    t("rename A's subdir", lambda: os.rename(p("a", "sub"), p("b", role + "-sub")))
    t("rmdir A's subdir", lambda: os.rmdir(p("a", "sub")))
    t("listdir A's dir", lambda: sorted(os.listdir(p("a"))))
    t("listdir closed", lambda: os.listdir(p("closed")))
    t("stat in closed", lambda: os.stat(p("closed", "f")).st_size)
    t("read in closed", lambda: read_all(p("closed", "f")))
    t("listdir write-only dir", lambda: os.listdir(p("wonly")))
    t("read in write-only dir", lambda: read_all(p("wonly", "f")))
    t("create in write-only dir", lambda: put(p("wonly", role + "-new"), b"x", 0o644))
    t("rename in write-only dir", lambda: os.rename(p("wonly", "f"), p("wonly", role + "-f")))
    t("rename back in write-only dir", lambda: os.rename(p("wonly", role + "-f"), p("wonly", "f")))
    t("unlink A's file in an open dir", lambda: os.unlink(p("a", "open", "victim")))
    t("recreate it", lambda: put(p("a", "open", "victim"), role.encode(), 0o644))
    t("open victim owner", lambda: owner_of(p("a", "open", "victim")))
    # Moving A's directory to another parent rewrites its "..": that needs
    # write permission on the directory itself, not only on both parents.
    t("move A's dir to own dir", lambda: os.rename(p("a", "open", "adir"), p("b", role + "-adir")))
    t("move A's dir within its parent", lambda: os.rename(p("a", "open", "adir"),
                                                          p("a", "open", role + "-adir")))
    t("move it back", lambda: os.rename(p("a", "open", role + "-adir"), p("a", "open", "adir")))
    t("rmdir A's empty dir in an open dir", lambda: os.rmdir(p("a", "open", "adir2")))
    t("move own dir into A's open dir", lambda: (os.mkdir(p("b", role + "-mv")),
                                                 os.rename(p("b", role + "-mv"),
                                                           p("a", "open", role + "-mv")))[1])
    t("move own dir over A's dir", lambda: os.rename(p("a", "open", role + "-mv"),
                                                    p("a", "open", "adir")))
    t("create in shared setgid dir", lambda: put(p("shared", role + "-f"), b"x", 0o2755))
    t("its owner", lambda: owner_of(p("shared", role + "-f")))
    t("mkdir in shared setgid dir", lambda: os.mkdir(p("shared", role + "-d"), 0o777))
    t("its owner ", lambda: owner_of(p("shared", role + "-d")))
    t("create setgid in a group-1 setgid dir",
      lambda: put(p("bsgid", role + "-f"), b"x", 0o2755))
    t("its owner  ", lambda: owner_of(p("bsgid", role + "-f")))
    t("mkdir in a group-1 setgid dir", lambda: os.mkdir(p("bsgid", role + "-d"), 0o2777))
    t("its owner   ", lambda: owner_of(p("bsgid", role + "-d")))

    # A sticky directory (/tmp): others' names are off limits.
    tmp = p("tmp")
    t("sticky: write A's 0666 file", lambda: write_at(p("tmp", "a-file"), b"x", 3))
    t("sticky: open O_CREAT A's 0666 file", lambda: open_close(p("tmp", "a-file"), W | os.O_CREAT))
    t("sticky: open O_CREAT A's 0644 file", lambda: open_close(p("tmp", "a-file2"), os.O_RDONLY | os.O_CREAT))
    t("sticky: rename A's file", lambda: os.rename(p("tmp", "a-file"), p("tmp", role + "-x")))
    t("sticky: unlink A's file", lambda: os.unlink(p("tmp", "a-file")))
    t("sticky: rmdir A's dir", lambda: os.rmdir(p("tmp", "a-dir")))
    t("sticky: rename A's dir", lambda: os.rename(p("tmp", "a-dir"), p("tmp", role + "-d")))
    t("sticky: create own", lambda: put(p("tmp", role + "-own"), b"x", 0o644))
    t("sticky: rename own", lambda: os.rename(p("tmp", role + "-own"), p("tmp", role + "-own2")))
    t("sticky: rename own over A's", lambda: os.rename(p("tmp", role + "-own2"), p("tmp", "a-file")))
    t("sticky: link A's 0666 file", lambda: os.link(p("tmp", "a-file"), p("tmp", role + "-ln")))
    t("sticky: create in A's dir in tmp", lambda: put(p("tmp", "a-dir", role), b"x", 0o600))
    t("sticky: unlink own", lambda: os.unlink(p("tmp", role + "-own2")))
    t("sticky: listdir", lambda: sorted(os.listdir(tmp)))

    # Escapes: symlinks out (absolute, relative), "..", renames under a walker.
    bdir = p("b")
    links = {
        "abs-shadow": "/etc/shadow",
        "abs-a0600": p("a", "f0600"),
        "rel-a0644": "../a/f0644",
        "rel-up": "../../outside",
        "rel-up-secret": "../../outside-secret",
        # From the backing dir, not the mount, this would reach the canary
        # (security.sh puts it beside the backing dir).
        "rel-canary": "../../canary",
        "rel-deep": "../" * 12 + "etc/passwd",
        "dir-a": "../a",
        "self": role + "-sym-self",
    }
    for name, target in links.items():
        ln = p("b", role + "-sym-" + name)
        t("symlink " + name, lambda: os.symlink(target, ln))
        t("readlink " + name, lambda: os.readlink(ln))
        t("open via " + name, lambda: read_all(ln))
        t("open O_NOFOLLOW " + name, lambda: read_all(ln, os.O_RDONLY | os.O_NOFOLLOW))
        t("write via " + name, lambda: write_at(ln, b"x", 0, os.O_WRONLY | os.O_APPEND))
        t("create via " + name, lambda: open_close(ln, W | os.O_CREAT))
        t("lchown " + name, lambda: os.lchown(ln, A_UID, -1))
    ln = p("b", role + "-sym-dir-a")
    t("create through dir symlink", lambda: open_close(os.path.join(ln, role + "-x"), W | os.O_CREAT))
    t("read 0600 through dir symlink", lambda: read_all(os.path.join(ln, "f0600")))
    t("read link-to-0600", lambda: read_all(p("a", "link-to-0600")))
    t("readlink link-to-0600", lambda: os.readlink(p("a", "link-to-0600")))
    t("read ../outside", lambda: read_all(p("..", "outside")))
    t("read ../outside-secret", lambda: read_all(p("..", "outside-secret")))
    t("write ../outside", lambda: write_at(p("..", "outside"), b"x"))
    t("read ../canary", lambda: read_all(p("..", "canary")))
    t("read ../../b/canary", lambda: read_all(p("..", "..", "b", "canary")))
    t("stat .. mode", lambda: "%04o" % stat.S_IMODE(os.stat(p("..")).st_mode))
    t("listdir ..", lambda: sorted(os.listdir(p(".."))))
    dfd = os.open(bdir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for k in range(1, 6):
            rel = "../" * k + "outside"
            t("openat b " + rel, lambda: os.read(os.open(rel, os.O_RDONLY, dir_fd=dfd), 99))
            rel = "../" * k + "canary"
            t("openat b " + rel, lambda: os.read(os.open(rel, os.O_RDONLY, dir_fd=dfd), 99))
    finally:
        os.close(dfd)
    # A directory renamed deeper, then shallower, under an open descriptor.
    base = p("b", role + "-walk")
    os.makedirs(os.path.join(base, "m1", "m2"))
    os.makedirs(os.path.join(base, "x", "y"))
    fd = os.open(os.path.join(base, "m1", "m2"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        for step, (src, dst) in enumerate(((("m1",), ("x", "y", "m1")),
                                           (("x", "y", "m1"), ("m1",)),
                                           (("m1",), ("x", "m1")))):
            t("walk rename %d" % step, lambda: os.rename(os.path.join(base, *src),
                                                        os.path.join(base, *dst)))
            for k in range(1, 8):
                rel = "../" * k + "outside"
                t("walk %d openat %s" % (step, rel),
                  lambda: os.read(os.open(rel, os.O_RDONLY, dir_fd=fd), 99))
                rel = "../" * k + "canary"
                t("walk %d openat %s" % (step, rel),
                  lambda: os.read(os.open(rel, os.O_RDONLY, dir_fd=fd), 99))
            t("walk %d create" % step,
              lambda: os.close(os.open("../made%d" % step, W | os.O_CREAT | os.O_EXCL,
                                       0o644, dir_fd=fd)))
        t("walk tree", lambda: sorted(os.path.relpath(os.path.join(d, x), base)
                                      for d, ds, fs in os.walk(base) for x in ds + fs))
    finally:
        os.close(fd)
    # Renaming a directory out from under A's subtree is refused too.
    t("rename A's sub/f away", lambda: os.rename(p("a", "sub", "f"), p("b", role + "-subf")))
    sys.stderr.write("%s: %d attempts\n" % (role, n[0]))


# --------------------------------------------------------------- state

def state():
    lines = []
    for d, dirs, files in os.walk(ROOT):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(d, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, ROOT)
            s = "%s %s %04o %d:%d n%d" % (rel, stat.S_IFMT(st.st_mode) >> 12,
                                         stat.S_IMODE(st.st_mode), st.st_uid,
                                         st.st_gid, st.st_nlink if not stat.S_ISDIR(st.st_mode) else 0)
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    data = f.read()
                s += " size %d %s" % (len(data), hashlib.sha1(data).hexdigest()[:12])
            if stat.S_ISLNK(st.st_mode):
                s += " -> " + os.readlink(path)
            try:
                xs = sorted(os.listxattr(path, follow_symlinks=False))
                for x in xs:
                    s += " %s=%r" % (x, os.getxattr(path, x, follow_symlinks=False))
            except OSError as e:
                s += " xattrs:" + errno.errorcode.get(e.errno, "?")
            lines.append(s)
    for s in lines:
        out(s)


# --------------------------------------------------------------- race

def flip(base, end):
    """Rename base/d to base/p/q/r/d and back until time end; the count."""
    spots = (os.path.join(base, "d"), os.path.join(base, "p", "q", "r", "d"))
    i = n = 0
    while time.monotonic() < end:
        try:
            os.rename(spots[i % 2], spots[(i + 1) % 2])
            n += 1
        except OSError:
            pass
        i += 1
    return n


def race(secs):
    """Rename a directory back and forth between depths 1 and 4 while a
    walker opens relative to a descriptor inside it: every "../" chain must
    be resolved by the kernel on the mount (ending in the mount point's
    parent and above), never by the daemon in the backing directory.
    security.sh runs "renamer" on the backing dir at the same time."""
    base = p("b", "race")
    os.makedirs(os.path.join(base, "d", "e", "f"))
    os.makedirs(os.path.join(base, "p", "q", "r"))
    with open(os.path.join(base, "d", "e", "f", "in"), "w") as f:
        f.write("in\n")
    spots = (os.path.join(base, "d"), os.path.join(base, "p", "q", "r", "d"))
    end = time.monotonic() + secs
    pid = os.fork()
    if pid == 0:
        try:
            flip(base, end)
        finally:
            os._exit(0)
    seen = {}
    tries = 0
    bad = []
    while time.monotonic() < end:
        for spot in spots:
            try:
                fd = os.open(os.path.join(spot, "e", "f"), os.O_RDONLY | os.O_DIRECTORY)
            except OSError as e:
                seen["open dir " + errno.errorcode[e.errno]] = 1
                continue
            try:
                for k in range(1, 10):
                    for tail in ("canary", "b/canary", "in", "f/in"):
                        rel = "../" * k + tail
                        tries += 1
                        r = res(lambda: os.read(os.open(rel, os.O_RDONLY, dir_fd=fd), 99))
                        key = "k=%d %s" % (k, tail)
                        if "CANARY" in r:
                            bad.append(key + " -> " + r)
                        seen[r] = seen.get(r, 0) + 1
                r = res(lambda: os.read(os.open("in", os.O_RDONLY, dir_fd=fd), 99))
                tries += 1
                seen[r] = seen.get(r, 0) + 1
                if r != "OK b'in\\n'":
                    bad.append("in -> " + r)
            finally:
                os.close(fd)
    os.waitpid(pid, 0)
    out("race: %d opens; results %s" % (tries, sorted(seen)))
    for b in bad:
        out("race: BAD " + b)
    return 1 if bad else 0


# --------------------------------------------------------------- watch

def watch(outpath, paths):
    libc = ctypes.CDLL(None, use_errno=True)
    ifd = libc.inotify_init1(0)
    if ifd < 0:
        sys.exit("inotify_init1: " + os.strerror(ctypes.get_errno()))
    wds = {}
    for path in paths:
        wd = libc.inotify_add_watch(ifd, path.encode(), 0xfff)  # IN_ALL_EVENTS
        if wd < 0:
            sys.exit("inotify_add_watch %s: %s" % (path, os.strerror(ctypes.get_errno())))
        wds[wd] = path
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    with open(outpath, "a") as log:
        log.write("ready\n")
        log.flush()
        while True:
            buf = os.read(ifd, 65536)
            i = 0
            while i < len(buf):
                wd, mask, _cookie, ln = __import__("struct").unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + ln].rstrip(b"\0").decode()
                i += 16 + ln
                log.write("%s %s 0x%x\n" % (wds.get(wd, wd), name or ".", mask))
                log.flush()


def main():
    global ROOT, ALIAS
    cmd = sys.argv[1]
    if cmd == "watch":
        return watch(sys.argv[2], sys.argv[3:])
    if cmd == "run":
        ROOT = os.path.abspath(sys.argv[3])
        return run(sys.argv[2])
    ROOT = os.path.abspath(sys.argv[2])
    if cmd == "state" and len(sys.argv) > 3:
        ALIAS = os.path.abspath(sys.argv[3])
    if cmd == "race":
        return race(float(sys.argv[3]))
    if cmd == "renamer":
        n = flip(ROOT, time.monotonic() + float(sys.argv[3]))
        out("renamer: %d renames in the backing dir" % n)
        return 0
    return {"setup-root": setup_root, "setup-a": setup_a,
            "setup-fix": setup_fix, "state": state}[cmd]()


if __name__ == "__main__":
    sys.exit(main())
