/// Every re-expressed upstream case, in upstream's order.
public enum NetpolCatalogue {
    public static var cases: [NetpolCase] { [] }

    /// The cases CI runs (``NetpolCase/isRepresentative``).
    public static var representative: [NetpolCase] { cases.filter(\.isRepresentative) }
}
