package convnet.model;

/** A residual unit: its branch's last layer can be zeroed so that the unit starts as the identity. */
interface Residual {
    void zeroLast();
}
