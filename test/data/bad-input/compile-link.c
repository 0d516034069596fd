/* Compiles, does not link: two functions declared but defined nowhere. */
int frobnicate_pages(int n);
int unpin_everything(void);

int main(void)
{
	return frobnicate_pages(3) + unpin_everything();
}
