"""Server-side printing: kubectl's ``get`` columns as meta.k8s.io/v1 Tables.

Public entry points:

* ``to_table(rt, items, *, include_object="Metadata", list_meta=None,
  with_column_definitions=True, now=None)``: the Table for a list, a single
  object (a one-item list) or one watch event.
* ``column_definitions(rt)``: just the columns.
* ``crd_printer(additional_printer_columns)`` + ``register_printer(group, kind,
  printer)``: for kinds defined at run time (CRDs).

One module per API area holds that area's printers; importing this package
registers them all.  Kinds without a printer print Name and Age.
"""

from pyk8s.apiserver.printers import (
    admissionregistration,
    apps,
    batch,
    certificates,
    componentstatus,
    core,
    csi,
    flowcontrol,
    networking,
    pod,
    rbac,
    scaling,
    scheduling,
    volumes,
)
from pyk8s.apiserver.printers.crd import crd_printer
from pyk8s.apiserver.printers.table import (
    Column,
    Printer,
    column_definitions,
    printer_for,
    register_printer,
    to_table,
    unregister_printer,
)

__all__ = [
    "Column",
    "Printer",
    "column_definitions",
    "crd_printer",
    "printer_for",
    "register_printer",
    "to_table",
    "unregister_printer",
]

# The modules register their printers when imported.
_LOADED = (admissionregistration, apps, batch, certificates, componentstatus, core, csi, flowcontrol, networking, pod, rbac, scaling,
           scheduling, volumes)
