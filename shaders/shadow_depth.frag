#version 330 core
// Depth only: nothing to write, the depth attachment gets gl_FragCoord.z.
void main() {
}
