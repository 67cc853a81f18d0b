// vm/xen/xen_c.h: Xen's C headers, as C: libxenctrl's and libxenstore's
// declare no extern "C" of their own. Engine xen includes them only here.
#pragma once

extern "C" {
#include <xenctrl.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xenguest.h>
#include <xen/hvm/save.h>
}
