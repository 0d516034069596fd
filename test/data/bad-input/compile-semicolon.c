/* Does not compile: a missing semicolon, which gcc reports on the line after it. */
int main(void)
{
	int n = 1
	return n;
}
