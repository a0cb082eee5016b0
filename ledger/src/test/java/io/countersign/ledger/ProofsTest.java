package io.countersign.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Proofs built from stored subtrees equal the proofs RFC 9162 defines over the leaves themselves,
 * and verify; every stored node is written once, when complete.
 */
class ProofsTest {

    @Test
    void everyInclusionAndConsistencyProofUpTo70LeavesMatchesTheRfcDefinitionAndVerifies() {
        for (int n = 1; n <= 70; n++) {
            Tree t = Tree.of(n);
            for (int m = 0; m < n; m++) {
                List<byte[]> proof = Proofs.inclusion(m, n, t);
                assertThat(proof)
                        .as("inclusion %d in %d", m, n)
                        .usingElementComparator(Arrays::compare)
                        .containsExactlyElementsOf(Reference.path(m, t.leafHashes.subList(0, n)));
                ProofVerifier.verifyInclusion(m, n, t.leafHashes.get(m), proof, t.root(n));
            }
            for (int m = 1; m <= n; m++) {
                List<byte[]> proof = Proofs.consistency(m, n, t);
                assertThat(proof)
                        .as("consistency %d to %d", m, n)
                        .usingElementComparator(Arrays::compare)
                        .containsExactlyElementsOf(m == n ? List.of() : Reference.proof(m, t.leafHashes.subList(0, n)));
                ProofVerifier.verifyConsistency(m, n, t.root(m), t.root(n), proof);
            }
        }
    }

    @Property(tries = 60)
    void proofsInLargeTreesVerify(
            @ForAll @IntRange(min = 2, max = 5000) int n, @ForAll @IntRange(min = 0, max = 4999) int m) {
        Tree t = Tree.of(n);
        int leaf = m % n;
        ProofVerifier.verifyInclusion(leaf, n, t.leafHashes.get(leaf), Proofs.inclusion(leaf, n, t), t.root(n));
        int old = leaf + 1;
        ProofVerifier.verifyConsistency(old, n, t.root(old), t.root(n), Proofs.consistency(old, n, t));
    }

    @Test
    void theCompactRangeRootIsTheRfcRootAtEverySize() {
        CompactRange r = new CompactRange();
        List<byte[]> leaves = new ArrayList<>();
        assertThat(r.root()).isEqualTo(Hashes.emptyRoot());
        for (int i = 0; i < 100; i++) {
            byte[] h = Hashes.leaf(("entry " + i).getBytes(StandardCharsets.UTF_8));
            leaves.add(h);
            r.append(h);
            assertThat(r.root()).as("size %d", i + 1).isEqualTo(Reference.mth(leaves));
        }
    }

    @Test
    void aRestoredRangeContinuesExactlyWhereTheStoredOneStopped() {
        Tree t = Tree.of(77);
        CompactRange restored = CompactRange.restore(77, t);
        Tree more = Tree.of(100);
        for (int i = 77; i < 100; i++) restored.append(more.leafHashes.get(i));
        assertThat(restored.root()).isEqualTo(more.root(100));
    }

    @Test
    void eachCompletedSubtreeIsReportedOnce() {
        Map<Long, byte[]> nodes = new HashMap<>();
        CompactRange r = new CompactRange();
        for (int i = 0; i < 64; i++) {
            r.append(Hashes.leaf(new byte[] {(byte) i}), (level, index, hash) -> {
                assertThat(nodes.put(Subtree.id(level, index), hash)).isNull();
            });
        }
        assertThat(nodes).hasSize(127); // 64 leaves + 32 + 16 + 8 + 4 + 2 + 1
        assertThat(nodes.get(Subtree.id(6, 0))).isEqualTo(r.root());
    }

    @Test
    void aProofOutsideTheTreeIsRefusedBeforeAnyRead() {
        NodeReader none = ids -> {
            throw new AssertionError("no read expected");
        };
        assertThatThrownBy(() -> Proofs.inclusion(5, 5, none)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Proofs.consistency(6, 5, none)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Proofs.consistency(0, 5, none)).isEmpty();
        assertThat(Proofs.root(0, none)).isEqualTo(Hashes.emptyRoot());
    }

    @Test
    void aTamperedProofIsRefused() {
        Tree t = Tree.of(20);
        List<byte[]> proof = new ArrayList<>(Proofs.inclusion(7, 20, t));
        byte[] bad = proof.get(1).clone();
        bad[0] ^= 1;
        proof.set(1, bad);
        assertThatThrownBy(() -> ProofVerifier.verifyInclusion(7, 20, t.leafHashes.get(7), proof, t.root(20)))
                .isInstanceOf(VerificationException.class)
                .hasMessageContaining("leaf 7");
    }

    /** Stored nodes, built the way the sequencer builds them. */
    static final class Tree implements NodeReader {
        final List<byte[]> leafHashes = new ArrayList<>();
        final Map<Long, byte[]> nodes = new HashMap<>();

        static Tree of(int n) {
            Tree t = new Tree();
            CompactRange r = new CompactRange();
            for (int i = 0; i < n; i++) {
                byte[] h = Hashes.leaf(("leaf-" + i).getBytes(StandardCharsets.UTF_8));
                t.leafHashes.add(h);
                r.append(h, (level, index, hash) -> t.nodes.put(Subtree.id(level, index), hash));
            }
            return t;
        }

        byte[] root(int size) {
            return Reference.mth(leafHashes.subList(0, size));
        }

        @Override
        public byte[][] read(long[] ids) {
            byte[][] out = new byte[ids.length][];
            for (int i = 0; i < ids.length; i++) {
                out[i] = nodes.get(ids[i]);
                if (out[i] == null) throw new LedgerException("no node " + Subtree.of(ids[i]));
            }
            return out;
        }
    }

    /** RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 transcribed literally, over leaf hashes. */
    static final class Reference {
        static byte[] mth(List<byte[]> d) {
            if (d.isEmpty()) return Hashes.emptyRoot();
            if (d.size() == 1) return d.getFirst();
            int k = Integer.highestOneBit(d.size() - 1);
            return Hashes.node(mth(d.subList(0, k)), mth(d.subList(k, d.size())));
        }

        static List<byte[]> path(int m, List<byte[]> d) {
            List<byte[]> out = new ArrayList<>();
            if (d.size() == 1) return out;
            int k = Integer.highestOneBit(d.size() - 1);
            if (m < k) {
                out.addAll(path(m, d.subList(0, k)));
                out.add(mth(d.subList(k, d.size())));
            } else {
                out.addAll(path(m - k, d.subList(k, d.size())));
                out.add(mth(d.subList(0, k)));
            }
            return out;
        }

        static List<byte[]> proof(int m, List<byte[]> d) {
            return subproof(m, d, true);
        }

        private static List<byte[]> subproof(int m, List<byte[]> d, boolean b) {
            List<byte[]> out = new ArrayList<>();
            int n = d.size();
            if (m == n) {
                if (!b) out.add(mth(d));
                return out;
            }
            int k = Integer.highestOneBit(n - 1);
            if (m <= k) {
                out.addAll(subproof(m, d.subList(0, k), b));
                out.add(mth(d.subList(k, n)));
            } else {
                out.addAll(subproof(m - k, d.subList(k, n), false));
                out.add(mth(d.subList(0, k)));
            }
            return out;
        }
    }
}
